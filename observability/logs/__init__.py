"""The app's ECS log lines as a contract, and the Elastic stack files generated from it."""
