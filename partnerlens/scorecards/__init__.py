"""Partner scorecards and the internal joint-program dashboard, drawn from the served `marts` schema.

`write_scorecards(con, out_dir)` writes one self-contained HTML page per partner (only that partner's rows, no
opted-out customer) and `index.html`, the dashboard across all partners. Modules: data (the SQL over `marts`),
charts (Altair), narrative (generated sentences), html (the page shell), pages (the two kinds of page), build.
"""

from partnerlens.scorecards.build import ScorecardLeak, ScorecardSet, default_out_dir, write_scorecards
from partnerlens.scorecards.data import MartsNotServed

__all__ = ["MartsNotServed", "ScorecardLeak", "ScorecardSet", "default_out_dir", "write_scorecards"]
