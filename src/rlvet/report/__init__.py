"""Rendering of command results: terminal (rich), JSON, self-contained HTML.

The only renderer (ARCHITECTURE.md section 4): domain packages hand over findings, result
documents and figure specs (``rlvet.figures``); ``plots`` draws the specs, ``html`` and
``gate_html`` embed them, ``terminal``, ``gate_terminal``, ``plan_terminal`` and
``eval_terminal`` print. Nothing here is imported by a domain package
(``tests/test_layering.py``).
"""
