"""Vitae resume entity extraction: training, ONNX export, inference and the MLflow registry.

The inference path (``entities``, ``predictor``, ``structure``) needs only numpy and
onnxruntime; training adds onnx, and the registry imports MLflow lazily.
"""

from .entities import LABELS, Entity, Prediction

__all__ = ["LABELS", "Entity", "Prediction"]
