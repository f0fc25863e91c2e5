"""Package data: label tables, model weights and report templates."""
