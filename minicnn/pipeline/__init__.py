"""The one run pipeline: config -> data -> inputs -> model -> Trainer -> evaluation -> outputs."""
