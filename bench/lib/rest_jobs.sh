# Sourced by the REST benchmarks (cluster.sh, rest_instructions.sh): the same load for both.
# load_rest_jobs URL OUT submits 100 short batch jobs and 10 unbounded streaming ones, waits
# until the 100 have finished, and sets JOB to the last streaming job's id.
load_rest_jobs() {
  local url=$1 out=$2
  local batch='source { FakeSource { row.num = 10, schema = { fields { id = bigint } } } }
sink { Blackhole {} }'
  local stream='env { job.mode = "STREAMING" }
source { FakeSource { unbounded = true, rows.per.second = 100, schema = { fields { id = bigint } } } }
sink { Blackhole {} }'
  for _ in $(seq 1 100); do curl -s -o /dev/null -X POST --data-binary "$batch" "$url/jobs"; done
  for _ in $(seq 1 10); do curl -s -X POST --data-binary "$stream" "$url/jobs" > "$out/last_stream.json"; done
  JOB=$(sed -E 's/.*"\/jobs\/([0-9a-f]{32})".*/\1/' "$out/last_stream.json")
  until [ "$(curl -s "$url/overview" | sed -E 's/.*"jobs-finished":([0-9]+).*/\1/')" = 100 ]; do sleep 0.1; done
}
