-- test/helpers/describe_extension.sql: a canonical, OID-free description of every object
-- of the extension tenantcore, one line per fact, for comparing two
-- installations (test/shell/upgrade_check.sh, test/shell/dump_restore_check.sh).
-- Privileges: the ACL of every member (functions, relations, columns, types,
-- the schema) and the initial privileges the extension's script left
-- (pg_init_privs, what pg_dump compares the ACLs with).
--
-- With the psql variable describe_scope set to user (psql -v describe_scope=user),
-- the same facts describe the user's objects instead: every table, view,
-- sequence, function and type outside the system schemas that belongs to no
-- extension (made by the seeds and by the extension's installers: isolate()'s
-- policies, protect()'s views and triggers, blueprints), and the default
-- privileges (test/shell/upgrade_check.sh).
\if :{?describe_scope}
\else
\set describe_scope extension
\endif
WITH ext AS (
    SELECT e.oid, e.extname, e.extnamespace FROM pg_extension e WHERE e.extname = 'tenantcore'
), user_ns AS (
    SELECT n.oid FROM pg_namespace n
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
), members AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_depend d, ext
     WHERE :'describe_scope' = 'extension'
       AND d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
    UNION ALL
    SELECT o.classid, o.objid, 0
      FROM (SELECT 'pg_class'::regclass AS classid, c.oid AS objid FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relpersistence = 'p'
            UNION ALL
            SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace
            UNION ALL
            SELECT 'pg_type'::regclass, t.oid FROM pg_type t JOIN user_ns n ON n.oid = t.typnamespace
             WHERE t.typtype IN ('d', 'e') OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
            UNION ALL
            SELECT 'pg_namespace'::regclass, n.oid FROM user_ns n) o
     WHERE :'describe_scope' = 'user'
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = o.classid AND d.objid = o.objid AND d.deptype = 'e')
), facts(line) AS (
    -- every member by name
    SELECT 'member ' || pg_describe_object(m.classid, m.objid, m.objsubid) FROM members m
    UNION ALL
    -- comments on members and their columns
    SELECT format('comment %s%s: %s', pg_describe_object(d.classoid, d.objoid, 0),
                  CASE WHEN d.objsubid <> 0 THEN ' column ' || d.objsubid ELSE '' END, d.description)
      FROM pg_description d JOIN members m ON m.classid = d.classoid AND m.objid = d.objoid
    UNION ALL
    -- functions and procedures: definition, privileges, settings, properties
    SELECT format('function %s line %s: %s', p.oid::regprocedure, lpad(l.n::text, 4, '0'), l.text)
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid,
           regexp_split_to_table(CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_get_functiondef(p.oid) END, E'\n')
               WITH ORDINALITY l(text, n)
    UNION ALL
    SELECT format('function %s: acl=%s config=%s secdef=%s volatile=%s parallel=%s leakproof=%s strict=%s cost=%s rows=%s owner_is_ext_owner=%s',
                  p.oid::regprocedure, p.proacl, p.proconfig, p.prosecdef, p.provolatile, p.proparallel,
                  p.proleakproof, p.proisstrict, p.procost, p.prorows,
                  p.proowner = (SELECT e.extowner FROM pg_extension e WHERE e.extname = 'tenantcore'))
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
    UNION ALL
    -- relations: kind, options, privileges, row level security
    SELECT format('relation %s: kind=%s persistence=%s acl=%s options=%s rls=%s force=%s',
                  c.oid::regclass, c.relkind, c.relpersistence, c.relacl, c.reloptions,
                  c.relrowsecurity, c.relforcerowsecurity)
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
    UNION ALL
    -- columns: type, not null, default, identity, generated, collation, privileges
    SELECT format('column %s.%s: #%s type=%s notnull=%s default=%s identity=%s generated=%s collation=%s acl=%s',
                  c.oid::regclass, quote_ident(a.attname), a.attnum, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
                  a.attcollation::regcollation, a.attacl)
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT format('constraint %s on %s: %s deferrable=%s deferred=%s validated=%s',
                  quote_ident(co.conname), c.oid::regclass, pg_get_constraintdef(co.oid),
                  co.condeferrable, co.condeferred, co.convalidated)
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
      JOIN pg_constraint co ON co.conrelid = c.oid
    UNION ALL
    SELECT format('index on %s: %s', c.oid::regclass, pg_get_indexdef(i.indexrelid))
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
      JOIN pg_index i ON i.indrelid = c.oid
    UNION ALL
    SELECT format('policy %s on %s: permissive=%s cmd=%s roles=%s using=%s check=%s',
                  quote_ident(p.polname), c.oid::regclass, p.polpermissive, p.polcmd,
                  (SELECT array_agg(CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END ORDER BY 1) FROM unnest(p.polroles) r),
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
      JOIN pg_policy p ON p.polrelid = c.oid
    UNION ALL
    SELECT format('trigger on %s: %s enabled=%s', c.oid::regclass, pg_get_triggerdef(t.oid), t.tgenabled)
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
      JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT format('view %s: %s', c.oid::regclass, pg_get_viewdef(c.oid))
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
     WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('sequence %s: type=%s start=%s inc=%s min=%s max=%s cache=%s cycle=%s',
                  s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                  s.seqcache, s.seqcycle)
      FROM pg_sequence s JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = s.seqrelid
    UNION ALL
    SELECT format('partition %s of %s: %s', c.oid::regclass, i.inhparent::regclass, pg_get_expr(c.relpartbound, c.oid))
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
      JOIN pg_inherits i ON i.inhrelid = c.oid
    UNION ALL
    SELECT format('partitioned %s: %s', c.oid::regclass, pg_get_partkeydef(c.oid))
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
     WHERE c.relkind = 'p'
    UNION ALL
    -- types: enums, domains, composites
    SELECT format('type %s: typtype=%s labels=%s domain_base=%s notnull=%s default=%s acl=%s',
                  t.oid::regtype, t.typtype,
                  (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
                  CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
                  t.typnotnull, t.typdefault, t.typacl)
      FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
    UNION ALL
    SELECT format('domain constraint %s on %s: %s', quote_ident(co.conname), co.contypid::regtype, pg_get_constraintdef(co.oid))
      FROM pg_constraint co JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = co.contypid
    UNION ALL
    SELECT format('event trigger %s: event=%s function=%s tags=%s enabled=%s', quote_ident(et.evtname), et.evtevent,
                  et.evtfoid::regprocedure, et.evttags, et.evtenabled)
      FROM pg_event_trigger et JOIN members m ON m.classid = 'pg_event_trigger'::regclass AND m.objid = et.oid
    UNION ALL
    -- initial privileges (pg_init_privs): those the extension's script left on its members
    SELECT format('init privs %s: type=%s %s', pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.privtype, ip.initprivs)
      FROM pg_init_privs ip JOIN members m ON m.classid = ip.classoid AND m.objid = ip.objoid
    UNION ALL
    SELECT format('init privs %s: type=%s %s', pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.privtype, ip.initprivs)
      FROM pg_init_privs ip, ext
     WHERE :'describe_scope' = 'extension' AND ip.classoid = 'pg_namespace'::regclass AND ip.objoid = ext.extnamespace
       AND NOT EXISTS (SELECT FROM members m WHERE m.classid = ip.classoid AND m.objid = ip.objoid)
    UNION ALL
    -- user scope: schemas with their privileges, default privileges
    SELECT format('schema %s: owner=%s acl=%s', n.nspname, n.nspowner::regrole, n.nspacl)
      FROM pg_namespace n JOIN members m ON m.classid = 'pg_namespace'::regclass AND m.objid = n.oid
    UNION ALL
    SELECT format('default acl for %s in %s on %s: %s', da.defaclrole::regrole, CASE WHEN da.defaclnamespace = 0 THEN '(all schemas)' ELSE da.defaclnamespace::regnamespace::text END,
                  da.defaclobjtype, da.defaclacl)
      FROM pg_default_acl da WHERE :'describe_scope' = 'user'
    UNION ALL
    -- the extension itself: version, schema and its privileges, dumped configuration
    SELECT format('extension: version=%s schema=%s relocatable=%s', e.extversion, e.extnamespace::regnamespace, e.extrelocatable)
      FROM pg_extension e WHERE e.extname = 'tenantcore' AND :'describe_scope' = 'extension'
    UNION ALL
    SELECT format('schema %s: acl=%s', n.nspname, n.nspacl) FROM pg_namespace n, ext WHERE n.oid = ext.extnamespace AND :'describe_scope' = 'extension'
    UNION ALL
    SELECT format('config dump %s: condition=%L', cfg.rel::regclass, cfg.cond)
      FROM pg_extension e, unnest(e.extconfig, e.extcondition) cfg(rel, cond) WHERE e.extname = 'tenantcore' AND :'describe_scope' = 'extension'
    UNION ALL
    SELECT format('requires %s', r) FROM pg_extension e, pg_available_extension_versions v, unnest(v.requires) r
     WHERE e.extname = 'tenantcore' AND v.name = e.extname AND v.version = e.extversion AND :'describe_scope' = 'extension'
)
-- one line per fact: fold the line breaks of view and policy expressions
SELECT f.line FROM (SELECT regexp_replace(line, E'\\s*\\n\\s*', ' ', 'g') AS line FROM facts) f
 ORDER BY f.line COLLATE "C";
