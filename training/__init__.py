"""DANet training: pre-training, two-stage supervised training, evaluation, retraining."""
