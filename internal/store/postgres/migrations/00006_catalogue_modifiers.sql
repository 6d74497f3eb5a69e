-- What the catalogue holds for Image Serving, as IPS keeps it
-- (docs/rendering.md, "What a conversion is made of"):
--   assets.url_modifier, assets.url_post_modifier  an asset's urlModifier and
--     urlPostApplyModifier (setUrlModifier): commands applied before and
--     after the request's;
--   companies.*  the company's default request attributes (`ipsd admin
--     company set-defaults`), each '' or 0 when the server's own applies;
--   job_assets.conversion  an asset's own resolved conversion (JSON, the
--     job engine's) when its stored modifiers make it differ from the job's;
--     '' for the job's.

-- +goose Up
ALTER TABLE assets ADD COLUMN url_modifier text NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN url_post_modifier text NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN jpeg_quality text NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN bkg_color text NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN res_mode text NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN icc_profile_rgb text NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN icc_profile_cmyk text NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN default_pix text NOT NULL DEFAULT '';
ALTER TABLE job_assets ADD COLUMN conversion text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE job_assets DROP COLUMN conversion;
ALTER TABLE companies DROP COLUMN default_pix;
ALTER TABLE companies DROP COLUMN icc_profile_cmyk;
ALTER TABLE companies DROP COLUMN icc_profile_rgb;
ALTER TABLE companies DROP COLUMN res_mode;
ALTER TABLE companies DROP COLUMN bkg_color;
ALTER TABLE companies DROP COLUMN jpeg_quality;
ALTER TABLE assets DROP COLUMN url_post_modifier;
ALTER TABLE assets DROP COLUMN url_modifier;
