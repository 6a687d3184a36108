-- Database `app` of the old-server (owner role `app`): 1000 notes, 250 tags, a view.
-- Deterministic, so a restored copy can be compared (see tests/remote/README.md).
CREATE ROLE app LOGIN;
CREATE DATABASE app OWNER app ENCODING 'UTF8' TEMPLATE template0;
\connect app
SET ROLE app;

CREATE TABLE notes (
    id serial PRIMARY KEY,
    title text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO notes (title, body, created_at)
SELECT CASE WHEN i % 100 = 0 THEN 'zażółć gęślą jaźń #' || i ELSE 'note #' || i END,
       md5(i::text),
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute'
FROM generate_series(1, 1000) AS i;

CREATE TABLE tags (
    id serial PRIMARY KEY,
    note_id integer NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    name text NOT NULL
);
INSERT INTO tags (note_id, name)
SELECT i, (ARRAY['red', 'green', 'blue'])[1 + i % 3]
FROM generate_series(1, 1000, 4) AS i;
CREATE INDEX tags_note_id ON tags (note_id);

CREATE VIEW note_summary AS
SELECT n.id, n.title, count(t.id) AS tags
FROM notes AS n LEFT JOIN tags AS t ON t.note_id = n.id
GROUP BY n.id, n.title;
