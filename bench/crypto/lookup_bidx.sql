\set id random(1, :rows)
SELECT id FROM enc_people WHERE organization_id = tenantcore.current_tenant() AND email_bidx = tenantcore.blind_index('user' || :id || '.' || substr(md5(:id::text), 1, 6) || '@example.com');
