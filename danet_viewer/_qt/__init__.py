"""The Qt layer: windows and widgets over the Qt-free core."""
