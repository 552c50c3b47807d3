"""``rlvet doctor``: detectors over a run's signals, first-break ordering and remedies.

Contents:
    diagnose(run, ...) -> Diagnosis -- run every detector, order the findings, name the first
        break, the last healthy step and the checkpoint to roll back to.
    Diagnosis -- the result.
    DetectContext, Detector, Registry, DETECTORS, default_registry -- the detector contract
        and the category -> detector table, for adding or replacing a detector.
    (Stage and remedy of each category: ``rlvet.findings.CATEGORIES``.)

Modules: one per link of the loop, ``policy_update`` (kl_spike, clip_saturation),
``exploration`` (entropy_collapse, entropy_stuck), ``critic`` (critic_failure),
``numerics`` (numerical_instability), ``reward`` (reward_direction, sparse_reward,
no_learning_signal, reward_hacking, plateau), ``freshness`` (stale_data), ``throughput``
(throughput_drop), ``memory`` and ``bottleneck`` (the resources link), ``evaluation``
(eval_protocol_change), ``llm`` (LLM post-training: truncation, wasted_compute,
train_inference_mismatch, reference_drift, length_grad_spike). The robust statistics they
share (and share with ``rlvet.reward``) are ``rlvet.stats``. Around them:
``registry`` (the detector contract and table), ``diagnose`` (run them, order, first
break), ``evidence`` (what could be judged, when a finding may be an error), ``family``
(which algorithm wrote the run), ``remedies`` and ``fitted_remedies`` (the fix per
finding), ``live`` (the one live policy), ``replay`` (a finished run through the live
path) and ``command`` (``rlvet doctor`` for the CLI).
"""

from __future__ import annotations

from rlvet.doctor.diagnose import Diagnosis, diagnose
from rlvet.doctor.registry import DETECTORS, DetectContext, Detector, Registry, default_registry

__all__ = [
    "DETECTORS",
    "DetectContext",
    "Detector",
    "Diagnosis",
    "Registry",
    "default_registry",
    "diagnose",
]
