"""The strings access-log lines are made of: hosts, paths, referrers and user agents.

Every name is synthetic: host names and the site live under ``example`` domains; addresses are
random. Paths are listed most popular first (the generator gives them Zipf-like weights), with
vulnerability-scanner probes (always 404) at the rare end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PROBE = "probe"
SITE = "https://www.example.com"
ISPS = ("dsl.example.net", "cable.example.com", "mobile.example.org", "proxy.example.net",
        "res.example.com", "fiber.example.org")
FIRST_OCTETS = (23, 31, 37, 45, 50, 62, 66, 71, 77, 81, 86, 92, 98, 104, 109, 128, 141, 151, 176, 185,
                188, 193, 203, 212, 217)
AGENTS = (
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36", 0.28),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36", 0.10),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Safari/605.1.15", 0.07),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", 0.06),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80", 0.08),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Mobile/15E148 Safari/604.1", 0.15),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Mobile Safari/537.36", 0.13),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 0.03),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 0.015),
    ("curl/8.5.0", 0.01),
    ("python-requests/2.31.0", 0.01),
    ("Go-http-client/1.1", 0.005),
    ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", 0.01),
)
SEARCH = (("https://www.google.com/", 0.10), ("https://www.bing.com/", 0.02),
          ("https://duckduckgo.com/", 0.015), ("https://news.ycombinator.com/", 0.01),
          ("https://t.co/x1y2z3", 0.005))
WORDS = ("scaling", "capacity", "latency", "caching", "queues", "postgres", "kubernetes", "budgets",
         "alerts", "forecasts", "tracing", "backups", "migrations", "releases", "costs")


@dataclass(frozen=True)
class Paths:
    """Request paths, most popular first, with their kind and median response size in bytes."""

    text: list[str]
    kind: np.ndarray
    size: np.ndarray


@dataclass(frozen=True)
class Pool:
    """Strings and the probability of each."""

    text: list[str]
    weights: np.ndarray


def build_paths(rng: np.random.Generator) -> Paths:
    """The site's paths: a fixed popular head, a shuffled long tail, then scanner probes.

    Examples
    --------
    >>> paths = build_paths(np.random.default_rng(0))
    >>> paths.text[0], str(paths.kind[-1]), len(paths.text)
    ('/', 'probe', 196)
    """
    head = [("/", "page", 14000), ("/static/css/main.3f9a2c.css", "asset", 48000),
            ("/static/js/app.8d41be.js", "asset", 160000), ("/images/logo.svg", "image", 3100),
            ("/favicon.ico", "asset", 5430), ("/api/v1/session", "api", 900), ("/pricing", "page", 16000),
            ("/static/js/vendor.c01f77.js", "asset", 420000), ("/docs/", "page", 12000),
            ("/api/v1/cart", "api", 1400), ("/images/hero.jpg", "image", 210000), ("/login", "page", 9000)]
    tail = [(f"/docs/{w}", "page", 15000) for w in WORDS]
    tail += [(f"/blog/{a}-and-{b}", "page", 22000) for a, b in zip(WORDS, WORDS[3:] + WORDS[:3], strict=True)]
    tail += [(f"/products/{i}", "page", 18000) for i in range(1001, 1041)]
    tail += [(f"/images/products/{i}.jpg", "image", 65000) for i in range(1001, 1041)]
    tail += [(f"/api/v1/products/{i}", "api", 1800) for i in range(1001, 1041)]
    tail += [(f"/api/v1/products?page={p}", "api", 6400) for p in range(1, 11)]
    tail += [(f"/api/v1/search?q={w}", "api", 5200) for w in WORDS]
    tail += [("/about", "page", 11000), ("/contact", "page", 8000), ("/signup", "page", 10000),
             ("/static/fonts/inter.woff2", "asset", 38000)]
    tail = [tail[i] for i in rng.permutation(len(tail))]
    probes = [(p, PROBE, 0) for p in ("/wp-login.php", "/.env", "/xmlrpc.php", "/admin/config.php",
                                      "/phpmyadmin/index.php")]
    rows = head + tail + probes
    return Paths([r[0] for r in rows], np.array([r[1] for r in rows]), np.array([r[2] for r in rows], float))


def build_hosts(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct client names: about 55% IPv4 addresses, the rest ISP host names.

    Examples
    --------
    >>> hosts = build_hosts(np.random.default_rng(0), 1000)
    >>> len(set(hosts)) == 1000
    True
    """
    is_ip = rng.random(n) < 0.55
    addresses = rng.choice(1 << 24, size=n, replace=False)
    octets = np.array(FIRST_OCTETS)[rng.integers(0, len(FIRST_OCTETS), n)]
    isps = rng.integers(0, len(ISPS), n)
    rows = zip(is_ip.tolist(), addresses.tolist(), octets.tolist(), isps.tolist(), strict=True)
    return [f"{o}.{a >> 16}.{(a >> 8) & 255}.{a & 255}" if ip else f"cpe-{a:06x}.{ISPS[isp]}"
            for ip, a, o, isp in rows]


def user_agents() -> tuple[list[str], np.ndarray]:
    """User-agent strings and their shares among hosts.

    Examples
    --------
    >>> agents, weights = user_agents()
    >>> len(agents) == len(weights), round(float(weights.sum()), 6)
    (True, 1.0)
    """
    weights = np.array([w for _, w in AGENTS])
    return [a for a, _ in AGENTS], weights / weights.sum()


def referrers(paths: Paths) -> Pool:
    """Referrers: ``-`` (45%), the site's own popular pages (40%), search engines and links.

    Examples
    --------
    >>> pool = referrers(build_paths(np.random.default_rng(0)))
    >>> pool.text[0], pool.text[1]
    ('-', 'https://www.example.com/')
    """
    pages = [p for p, k in zip(paths.text, paths.kind, strict=True) if k == "page"][:30]
    page_weights = 1.0 / (np.arange(len(pages)) + 1.0)
    weights = np.concatenate([[0.45], 0.40 * page_weights / page_weights.sum(), [w for _, w in SEARCH]])
    return Pool(["-", *(SITE + p for p in pages), *(s for s, _ in SEARCH)], weights / weights.sum())
