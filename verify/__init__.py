"""`make verify STACK=<s>`: checks a deployed platform against the render of its stack."""
