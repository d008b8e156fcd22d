"""The trainer's two failures that retrying the same job cannot fix (the orchestrator fails the job for good)."""


class TrainingDiverged(RuntimeError):
    """A loss or a weight became non-finite: the same job would diverge again (permanent)."""


class JobError(ValueError):
    """The job is malformed: not worth retrying."""
