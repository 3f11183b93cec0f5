"""Widget tests share `widget_host` (a bare app hosting one widget) and sample positions."""
