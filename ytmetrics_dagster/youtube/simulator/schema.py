"""Which parts and which field names the API accepts for the methods the simulator serves.

The property names are those of Google's discovery document for youtube v3 (the ``schemas``
section). A name tree maps a property to ``None`` (a scalar or a list of scalars), to a nested
tree (an object, or a list of objects: a field selection treats both alike) or to ``ANY`` (an
object the simulator never fills in, whose sub-fields are accepted unchecked).
``test_simulator_fidelity`` checks every tree against the discovery document.
"""

from __future__ import annotations

from typing import Final

ANY: Final = "*"

_LOCALIZED = {"title": None, "description": None}

_VIDEO = {
    "kind": None,
    "etag": None,
    "id": None,
    "snippet": {
        "publishedAt": None,
        "channelId": None,
        "title": None,
        "description": None,
        "thumbnails": ANY,
        "channelTitle": None,
        "tags": None,
        "categoryId": None,
        "liveBroadcastContent": None,
        "defaultLanguage": None,
        "localized": _LOCALIZED,
        "defaultAudioLanguage": None,
    },
    "contentDetails": {
        "duration": None,
        "dimension": None,
        "definition": None,
        "caption": None,
        "licensedContent": None,
        "regionRestriction": ANY,
        "contentRating": ANY,
        "projection": None,
        "hasCustomThumbnail": None,
        "countryRestriction": ANY,
    },
    "status": {
        "uploadStatus": None,
        "failureReason": None,
        "rejectionReason": None,
        "privacyStatus": None,
        "publishAt": None,
        "license": None,
        "embeddable": None,
        "publicStatsViewable": None,
        "madeForKids": None,
        "selfDeclaredMadeForKids": None,
        "containsSyntheticMedia": None,
    },
    "statistics": {
        "viewCount": None,
        "likeCount": None,
        "dislikeCount": None,
        "favoriteCount": None,
        "commentCount": None,
    },
    "player": ANY,
    "topicDetails": ANY,
    "recordingDetails": ANY,
    "fileDetails": ANY,
    "processingDetails": ANY,
    "suggestions": ANY,
    "liveStreamingDetails": ANY,
    "localizations": ANY,
    "paidProductPlacementDetails": ANY,
    "monetizationDetails": ANY,
    "ageGating": ANY,
    "projectDetails": ANY,
    "brandPartner": ANY,
}

_CHANNEL = {
    "kind": None,
    "etag": None,
    "id": None,
    "snippet": {
        "title": None,
        "description": None,
        "customUrl": None,
        "publishedAt": None,
        "thumbnails": ANY,
        "defaultLanguage": None,
        "localized": _LOCALIZED,
        "country": None,
    },
    "contentDetails": {
        "relatedPlaylists": {
            "likes": None,
            "favorites": None,
            "uploads": None,
            "watchHistory": None,
            "watchLater": None,
        }
    },
    "statistics": {
        "viewCount": None,
        "commentCount": None,
        "subscriberCount": None,
        "hiddenSubscriberCount": None,
        "videoCount": None,
    },
    "status": {
        "privacyStatus": None,
        "isLinked": None,
        "longUploadsStatus": None,
        "madeForKids": None,
        "selfDeclaredMadeForKids": None,
        "isChannelMonetizationEnabled": None,
    },
    "topicDetails": ANY,
    "brandingSettings": ANY,
    "auditDetails": ANY,
    "contentOwnerDetails": ANY,
    "localizations": ANY,
    "conversionPings": ANY,
}

_PLAYLIST_ITEM = {
    "kind": None,
    "etag": None,
    "id": None,
    "snippet": {
        "publishedAt": None,
        "channelId": None,
        "title": None,
        "description": None,
        "thumbnails": ANY,
        "channelTitle": None,
        "videoOwnerChannelTitle": None,
        "videoOwnerChannelId": None,
        "playlistId": None,
        "position": None,
        "resourceId": {"kind": None, "videoId": None, "channelId": None, "playlistId": None},
    },
    "contentDetails": {
        "videoId": None,
        "startAt": None,
        "endAt": None,
        "note": None,
        "videoPublishedAt": None,
    },
    "status": {"privacyStatus": None},
}

# videos:batchGetStats answers VideoStat resources: three counters, no favoriteCount.
_VIDEO_STAT = {
    "kind": None,
    "etag": None,
    "id": None,
    "snippet": {"publishTime": None},
    "statistics": {"viewCount": None, "likeCount": None, "commentCount": None},
    "contentDetails": {"duration": None},
}

_PAGE_INFO = {"totalResults": None, "resultsPerPage": None}


def _list_response(item: dict) -> dict:
    return {
        "kind": None,
        "etag": None,
        "nextPageToken": None,
        "prevPageToken": None,
        "pageInfo": _PAGE_INFO,
        "items": item,
        "eventId": None,
        "visitorId": None,
        "tokenPagination": ANY,
    }


# method -> (response schema name, its name tree, the parts it accepts)
METHODS: dict[str, tuple[str, dict, frozenset[str]]] = {
    "videos": (
        "VideoListResponse",
        _list_response(_VIDEO),
        # the parts the videos.list reference lists (not every Video property is a part)
        frozenset(
            {
                "contentDetails",
                "fileDetails",
                "id",
                "liveStreamingDetails",
                "localizations",
                "paidProductPlacementDetails",
                "player",
                "processingDetails",
                "recordingDetails",
                "snippet",
                "statistics",
                "status",
                "suggestions",
                "topicDetails",
            }
        ),
    ),
    "videos:batchGetStats": (
        "BatchGetStatsResponse",
        {"kind": None, "etag": None, "items": _VIDEO_STAT},
        frozenset({"id", "snippet", "statistics", "contentDetails"}),
    ),
    "channels": (
        "ChannelListResponse",
        _list_response(_CHANNEL),
        frozenset(k for k in _CHANNEL if k not in ("kind", "etag", "conversionPings")),
    ),
    "playlistItems": (
        "PlaylistItemListResponse",
        _list_response(_PLAYLIST_ITEM),
        frozenset({"id", "snippet", "contentDetails", "status"}),
    ),
}
