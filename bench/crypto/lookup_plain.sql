\set id random(1, :rows)
SELECT id FROM plain_people WHERE organization_id = tenantcore.current_tenant() AND email = 'user' || :id || '.' || substr(md5(:id::text), 1, 6) || '@example.com';
