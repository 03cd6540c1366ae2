"""An independent Kafka client for the tests: confluent-kafka (librdkafka), installed by
scripts/install-kafka-server.sh. It creates topics, writes the input and reads what weir
wrote, so what the tests check is not read back through weir's own protocol code.

  client.py create BOOTSTRAP TOPIC PARTITIONS
  client.py grow BOOTSTRAP TOPIC PARTITIONS
  client.py produce BOOTSTRAP TOPIC [PARTITION]      (values from stdin, one per line)
  client.py consume BOOTSTRAP TOPIC ISOLATION COUNT SECONDS   (values to stdout, one per line)
  client.py commit BOOTSTRAP GROUP TOPIC PARTITION OFFSET
  client.py offsets BOOTSTRAP GROUP TOPIC PARTITIONS   (the group's committed offsets)
"""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic


def main(argv):
    cmd, bootstrap = argv[1], argv[2]
    if cmd == "create":
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for f in admin.create_topics([NewTopic(argv[3], int(argv[4]), 1)]).values():
            f.result(30)
    elif cmd == "grow":
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for f in admin.create_partitions([NewPartitions(argv[3], int(argv[4]))]).values():
            f.result(30)
    elif cmd == "produce":
        # Small batches, as a steady stream of producers writes them.
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 100})
        kw = {"partition": int(argv[4])} if len(argv) > 4 else {}
        for line in sys.stdin:
            p.produce(argv[3], value=line.rstrip("\n").encode(), **kw)
            p.poll(0)
        if p.flush(30) != 0:
            sys.exit("messages left unsent")
    elif cmd == "consume":
        topic, isolation, want, seconds = argv[3], argv[4], int(argv[5]), float(argv[6])
        c = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": f"weir-test-{time.time_ns()}",
            "isolation.level": isolation,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        meta = c.list_topics(topic, timeout=30).topics[topic]
        c.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        got = 0
        deadline = time.time() + seconds
        while time.time() < deadline and got < want:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                continue
            print(m.value().decode())
            got += 1
        c.close()
    elif cmd == "commit":
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": argv[3], "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition(argv[4], int(argv[5]), int(argv[6]))], asynchronous=False)
        c.close()
    elif cmd == "offsets":
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": argv[3], "enable.auto.commit": False})
        tps = [TopicPartition(argv[4], p) for p in range(int(argv[5]))]
        for tp in c.committed(tps, timeout=30):
            print(tp.partition, tp.offset)
        c.close()
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
