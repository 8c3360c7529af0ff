DROP TABLE activations;
DROP TABLE licenses;
