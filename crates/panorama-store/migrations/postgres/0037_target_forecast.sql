-- Target forecasting (经营目标预测): PostgreSQL twin of migrations/sqlite/0037.
CREATE TABLE target_forecast (
    period          TEXT NOT NULL,
    indicator       TEXT NOT NULL REFERENCES target_indicator (code),
    rm_user_id      BIGINT NOT NULL REFERENCES app_user (id),
    as_of           TEXT NOT NULL,
    scale           BIGINT NOT NULL CHECK (scale > 0),
    trend_mean      BIGINT NOT NULL,
    trend_sd        BIGINT NOT NULL CHECK (trend_sd >= 0),
    pipeline_mean   BIGINT NOT NULL,
    pipeline_sd     BIGINT NOT NULL CHECK (pipeline_sd >= 0),
    computed_at     TEXT NOT NULL,
    PRIMARY KEY (period, indicator, rm_user_id)
);

-- The win rates the last forecast used: per stage, opportunities closed in
-- the year to `as_of` after being at it, and how many of them were won.
CREATE TABLE opportunity_win_rate (
    stage           TEXT PRIMARY KEY CHECK (stage IN ('lead', 'contacted', 'proposal')),
    as_of           TEXT NOT NULL,
    closed          BIGINT NOT NULL CHECK (closed >= 0),
    won             BIGINT NOT NULL CHECK (won >= 0 AND won <= closed)
);

-- Per indicator, the trend's basis the last forecast chose: the recent
-- window or the period so far (pacing), whichever forecast the past
-- quarters better (their weighted absolute percentage errors, in basis
-- points; none when nothing happened in them).
CREATE TABLE forecast_basis (
    indicator       TEXT PRIMARY KEY REFERENCES target_indicator (code),
    as_of           TEXT NOT NULL,
    basis           TEXT NOT NULL CHECK (basis IN ('window', 'period')),
    quarters        BIGINT NOT NULL,
    window_wape_bp  BIGINT,
    period_wape_bp  BIGINT
);
