"""Rotation of secrets by Lambda-compatible functions: RotateSecret, CancelRotateSecret, the rotation
job, the scheduler.

- :mod:`.start`: RotateSecret (checks, configuration, the empty AWSPENDING version, the job) and
  the start of a scheduled rotation;
- :mod:`.cancel`: CancelRotateSecret;
- :mod:`.run`: the work item that invokes the function's four steps (or testSecret alone);
- :mod:`.schedule` and :mod:`.cron`: RotationRules and their windows;
- :mod:`.scheduler`: the periodic job that starts due rotations;
- :mod:`.tokens`: the RotationToken of each run;
- :mod:`.status`: what ``strongroom admin rotation-status`` prints.

AWS's behaviour and its sources: docs/api.md ("Rotation"); the engine's side: docs/rotation.md.
"""
