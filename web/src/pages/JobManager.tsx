// The JobManager: its configuration, metrics, logs, stdout and thread dump.
import { usePoll } from "../poll";
import { Loaded, Section } from "../components/common";
import { ProcessViews } from "./TaskManagers";

export function JobManagerPage() {
  const config = usePoll<{ key: string; value: string }[]>("/jobmanager/config", 30000);
  return (
    <div class="page">
      <h1>JobManager</h1>
      <ProcessViews base="/jobmanager" name="JobManager" />
      <Section title="Configuration">
        <Loaded polled={config}>
          {(c) => (
            <table class="kv" data-testid="jm-config">
              <tbody>
                {[...c]
                  .sort((a, b) => a.key.localeCompare(b.key))
                  .map((e) => (
                    <tr>
                      <th>{e.key}</th>
                      <td class="mono">{e.value}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          )}
        </Loaded>
      </Section>
    </div>
  );
}
