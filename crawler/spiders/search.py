"""Kind ``search``: a site's search page, run once per institution name.

The keyword is percent-encoded in the site's own charset (a GBK site expects ``%D6%D0…`` for
中); the result page is then read like an ``html`` list.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from crawler.spiders.base import SourceSpider
from crawler.spiders.html import ListMixin


def search_url(template: str, keyword: str, charset: str) -> str:
    """The template with ``{keyword}`` replaced by the keyword encoded in ``charset``."""
    return template.replace("{keyword}", quote(keyword.encode(charset, errors="strict"), safe=""))


class SearchSpider(ListMixin, SourceSpider):
    async def start(self) -> Any:
        keywords = list(self.source.keywords) or list(self.yuqing.institution.all_names)
        for keyword in keywords:
            try:
                url = search_url(self.source.url_template, keyword, self.source.charset)
            except UnicodeEncodeError:
                self.report.error(
                    "config",
                    self.source.url_template,
                    f"keyword {keyword!r} cannot be written in {self.source.charset}",
                )
                continue
            yield self.request(
                url, self.parse_list, meta={"yuqing_page": 1, "yuqing_keyword": keyword}
            )
