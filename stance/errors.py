"""ModelError, apart from the model module: `stance.predict` catches it without importing torch,
so that its reader process starts before torch is imported (see predict.run)."""


class ModelError(RuntimeError):
    """A model that cannot be found, verified or used; the message says which and why."""
