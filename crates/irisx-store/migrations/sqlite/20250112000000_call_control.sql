-- A tenant's pending change to a live call (hang up, or redirect to a new document), as JSON; the voice node
-- supervising the call takes it and clears it. Append-only: never edit a released migration, add a new one.

ALTER TABLE calls ADD COLUMN control TEXT;
