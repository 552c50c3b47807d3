"""Rendering of command results: terminal (rich), JSON, self-contained HTML.

The only renderer (ARCHITECTURE.md section 4): domain packages hand over findings, result
documents and figure specs (``rlvet.figures``). Nothing here is imported by a domain package
(``tests/test_layering.py``).

Modules: ``plots`` draws the specs, ``html`` and ``gate_html`` embed them, ``terminal``,
``gate_terminal``, ``plan_terminal``, ``eval_terminal`` and ``watch_terminal`` print.
The stage-gate report (``rlvet report``): ``collect`` gathers run directories,
``documents`` reads results back from JSON (their typed summaries: ``rlvet.documents``),
``questions`` answers each gate (``seeds`` groups runs by recorded settings and applies
the dispersion rule, ``hints`` words the advice for the user's framework), ``gates``
decides go / no-go, ``gate_figures`` plots it, ``stagegate`` shapes the command result.
"""
