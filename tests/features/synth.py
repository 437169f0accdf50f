"""A synthetic snapshot frame in the interchange format: channels of known size and quality, tracked videos.

Views follow v(t) = subscribers^0.8 * exp(quality) * sqrt(age), so features that carry real information
(channel size, early views) predict it and everything else does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AGES_H = (1.0, 3.0, 6.0, 24.0, 72.0, 168.0, 400.0)
WORDS = ("how", "to", "cook", "RAMEN", "fast", "best", "phone", "2026", "tips", "secret", "?", "!", "🔥", "#shorts")
START = pd.Timestamp("2025-01-01T00:00:00Z")


def synthetic_snapshots(
    *, n_channels: int = 30, videos_per_channel: int = 6, seed: int = 0, source: str = "synth", days: float = 90.0
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    end = START + pd.Timedelta(days=days + 20)
    rows = []
    for c in range(n_channels):
        subs = float(10 ** rng.uniform(2, 6))
        category, country = int(rng.choice([10, 20, 22, 24, 28])), str(rng.choice(["FR", "US", "JP"]))
        for v in range(videos_per_channel):
            published = START + pd.Timedelta(hours=float(rng.uniform(0, days * 24)))
            quality = float(rng.normal(0, 1))
            title = " ".join(rng.choice(WORDS, size=int(rng.integers(2, 8))))
            duration = float(rng.choice([15.0, 45.0, 59.0, 120.0, 600.0]))
            for age in AGES_H:
                captured = published + pd.Timedelta(hours=age + float(rng.uniform(0, 0.2)))
                if captured > end or rng.random() < 0.15:
                    continue
                hours = (captured - published).total_seconds() / 3600.0
                rows.append(
                    {
                        "video_id": f"{source}-c{c}-v{v}",
                        "platform": "youtube",
                        "channel_id": f"{source}-chan{c}",
                        "channel_title": f"Channel {c}",
                        "title": title,
                        "description": "desc #tag" if v % 2 else None,
                        "tags": "a|b|c" if v % 3 else None,
                        "category_id": category,
                        "duration_s": duration,
                        "published_at": published,
                        "captured_at": captured,
                        "views": int(subs**0.8 * np.exp(quality) * np.sqrt(hours)),
                        "channel_subscribers": int(subs * (1 + 0.001 * hours)),
                        "country": country,
                        "source": source,
                        "published_at_is_date_only": False,
                        "captured_at_is_date_only": False,
                    }
                )
    return pd.DataFrame(rows)
