-- Amazon Connect adapter (src/adapters/amazon-connect): what the contact events told us about each
-- contact, so a transfer chain (PreviousContactId) can be turned into one session whatever order the
-- events arrive in. `facts` holds each fact once (the first event that carried it wins; every event
-- carrying a fact carries the same value). A contact's final events (abandon, end) are derived once
-- its DISCONNECTED is `grace` old and no later contact of the chain names it as its previous one.
CREATE TABLE connect_contacts (
  tenant text NOT NULL,
  contact_id text NOT NULL,
  session_id text NOT NULL,
  previous_contact_id text,
  facts jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- When the exporter first learned of the disconnect (wall clock): the grace counts from here.
  disconnect_seen_at timestamptz,
  finals_done boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant, contact_id)
);
CREATE INDEX connect_contacts_session ON connect_contacts (tenant, session_id);
CREATE INDEX connect_contacts_previous ON connect_contacts (tenant, previous_contact_id) WHERE previous_contact_id IS NOT NULL;
CREATE INDEX connect_contacts_due ON connect_contacts (disconnect_seen_at) WHERE NOT finals_done AND disconnect_seen_at IS NOT NULL;
