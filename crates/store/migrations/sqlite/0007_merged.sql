-- The persons merged into another, found from the survivor: a person's audit chain and
-- grants are read with those of the persons merged into them (chains are never moved:
-- each stays verifiable under its own person).
CREATE INDEX persons_merged_into ON persons(merged_into) WHERE merged_into IS NOT NULL;
