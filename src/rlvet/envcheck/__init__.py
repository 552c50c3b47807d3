"""Environment QA (``rlvet env``): probes in a child process, one check per failure class.

Modules: ``spec`` (SPEC strings -> factories), ``harness`` (child process and watchdog),
``probes`` (what runs in the child), ``records`` (probe data), ``experts`` (built-in weak
experts), ``checks/`` (one module per category), ``suite`` (the plan and the Python API),
``catalog`` (faulty envs for testing harnesses), ``report`` (plots), ``load`` (the
machine's load while the probes ran, for timing verdicts).
"""
