"""Spiders per source kind. They are built from config by ``crawler.spiderloader``, never listed
as modules: a source in the config *is* a spider."""
