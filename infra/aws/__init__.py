"""AWS foundation (VPC, EKS, S3, managed data services) beneath the Kubernetes platform."""
