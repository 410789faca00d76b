"""Print the API's OpenAPI document (what /api/v1/openapi.json serves):

python -m ytmetrics_dagster.surfaces.api.openapi > docs/openapi.json
"""

from __future__ import annotations

import json
import sys

from ytmetrics_dagster.settings import ApiSettings
from ytmetrics_dagster.surfaces.api.app import create_api


def document() -> dict:
    # the document does not depend on the warehouse or the settings
    return create_api(
        None, ApiSettings(read_tokens_required=False, allow_open_reads=False)
    ).openapi()


def main() -> int:
    sys.stdout.write(json.dumps(document(), indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
