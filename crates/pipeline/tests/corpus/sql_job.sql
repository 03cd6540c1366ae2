/* config
env { job.mode = "BATCH", parallelism = 2 }
*/
CREATE TABLE fake WITH ('connector' = 'FakeSource', 'type' = 'source', 'row.num' = '10',
  'schema' = '{ fields { id = int, name = string } }');
CREATE TABLE big AS SELECT id, upper(name) AS name FROM fake WHERE id > 3;
CREATE TABLE out WITH ('connector' = 'Console', 'type' = 'sink');
INSERT INTO out SELECT * FROM big;
