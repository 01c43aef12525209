"""DANet: the network, its inputs and its weights — one definition for training and inference.

Qt-free; imports torch. ``training/`` trains these modules and the viewer runs
them through ``danet_viewer.model.inference``.
"""
