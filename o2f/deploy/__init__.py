"""Trained checkpoints outside the training loop: detection on images, ONNX export, ONNX Runtime."""
