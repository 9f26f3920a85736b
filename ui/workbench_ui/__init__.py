"""The PyQt6 desktop workbench: thin views over the core models in ``workbench``."""
