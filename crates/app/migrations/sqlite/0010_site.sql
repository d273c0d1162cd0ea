-- Public site: versioned policies, first-party analytics, tracked email
-- links, privacy inquiries, support tickets and service announcements.

-- Published versions of the privacy policy and the terms of use. The Markdown
-- is kept as written; the HTML is what it rendered to after sanitising.
CREATE TABLE policy_versions (
    kind TEXT NOT NULL CHECK (kind IN ('privacy', 'terms')),
    version BIGINT NOT NULL,
    body_md TEXT NOT NULL,
    body_html TEXT NOT NULL,
    effective_at BIGINT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by TEXT,
    PRIMARY KEY (kind, version)
);

CREATE TABLE policy_acknowledgements (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    version BIGINT NOT NULL,
    acknowledged_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind, version)
);

-- One random salt per UTC day for visitor hashes; deleted after 48 hours.
CREATE TABLE analytics_salts (
    day BIGINT PRIMARY KEY,
    salt TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One row per page view. No address, no user agent: only the hour, a path
-- with ids and tokens redacted, the referring host, coarse browser, OS and
-- device families, and a visitor hash that cannot outlive its day's salt.
CREATE TABLE page_views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    day BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    visitor TEXT NOT NULL,
    path TEXT NOT NULL,
    referrer_host TEXT,
    browser TEXT NOT NULL,
    os TEXT NOT NULL,
    device TEXT NOT NULL CHECK (device IN ('mobile', 'tablet', 'desktop', 'bot')),
    region TEXT,
    city TEXT
);
CREATE INDEX page_views_by_day ON page_views (day, visitor);

-- Links in outgoing email. The destination may hold a secret (a join token):
-- it is sealed, and only the redirect ever opens it.
CREATE TABLE tracked_links (
    id TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    label TEXT NOT NULL,
    owner_id TEXT,
    destination TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX tracked_links_by_campaign ON tracked_links (campaign, created_at);

CREATE TABLE link_clicks (
    link_id TEXT NOT NULL,
    campaign TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX link_clicks_by_campaign ON link_clicks (campaign, at);

-- Questions about privacy from the contact form, due 30 days after arrival.
CREATE TABLE privacy_inquiries (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    message TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    answered_at BIGINT,
    answered_by TEXT
);
CREATE INDEX privacy_inquiries_by_due ON privacy_inquiries (status, due_at);

CREATE TABLE support_tickets (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'waiting', 'closed')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX support_tickets_by_account ON support_tickets (account_id);

CREATE TABLE ticket_messages (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES support_tickets (id) ON DELETE CASCADE,
    author_kind TEXT NOT NULL CHECK (author_kind IN ('therapist', 'operator')),
    author_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, created_at);

CREATE TABLE announcements (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    recipients BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE announcement_opt_outs (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    opted_out_at BIGINT NOT NULL
);
