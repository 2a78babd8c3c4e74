-- Expo apps (DESIGN §10): the code signature (`expo-signature` value) of a yank's rollBackToEmbedded
-- directive, made by the release engineer's Expo key at yank time (`updraft yank --expo-private-key`).
-- The Worker holds no Expo key: it serves this stored signature with the directive bytes it derives
-- from the yank, `{"type":"rollBackToEmbedded","parameters":{"commitTime":<yanked_at>}}`.
ALTER TABLE yanks ADD COLUMN expo_directive_signature TEXT;
