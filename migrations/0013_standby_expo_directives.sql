-- Automatic rollback for Expo apps that use code signing (DESIGN §6, §10; docs/clients/expo.md): a
-- standby yank may carry the `expo-signature` of its rollBackToEmbedded directive, signed with the
-- app's Expo key at promote time (`updraft promote … --on-breach rollback --expo-private-key`), as a
-- yank registration carries one (migrations/0009). Publishing the standby copies it to the yank row,
-- so devices that expect signed answers are sent the signed directive. NULL: none was given.
ALTER TABLE standby_yanks ADD COLUMN expo_directive_signature TEXT;
