"""Pure helpers the spiders use: charset, dates, HTML → text, canonical URLs, articles, feeds.

No Scrapy, no I/O: each takes bytes or text and returns values, so each is tested on its own.
"""
