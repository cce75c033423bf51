"""The two BigModel regions and their addresses, in one table.

The API base URL (used by config), the home page (named when a key is refused) and the API-key console
(named when no key is set) change together when a region moves, so they live together, apart from the
message catalogue.
"""

from __future__ import annotations

REGIONS = {
    "cn": "https://open.bigmodel.cn/api/paas/v4",
    "intl": "https://api.z.ai/api/paas/v4",
}
HOME_URLS = {"cn": "https://open.bigmodel.cn", "intl": "https://z.ai"}
CONSOLE_URLS = {
    "cn": "https://open.bigmodel.cn/usercenter/apikeys",
    "intl": "https://z.ai/manage-apikey/apikey-list",
}
