-- The effective accelerator type and application type (Image::accelerator, Image::app_type),
-- stored so that SCNet's acceleratorType / imageType filters are index-backed.
ALTER TABLE images ADD COLUMN accelerator TEXT COLLATE "C";
ALTER TABLE images ADD COLUMN app_type TEXT COLLATE "C";
UPDATE images SET
    accelerator = CASE
        WHEN accelerator_type IS NOT NULL AND TRIM(accelerator_type) <> '' THEN LOWER(TRIM(accelerator_type))
        WHEN resource_categories LIKE '%"gpu"%' THEN 'gpu'
        WHEN resource_categories LIKE '%"ascend"%' THEN 'npu'
        ELSE 'cpu'
    END,
    app_type = COALESCE(image_type, 'Base');
CREATE INDEX images_accelerator_created ON images (accelerator, created_at, id);
CREATE INDEX images_app_type ON images (app_type);
