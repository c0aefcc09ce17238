const HOST_PORT = /^(?<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(?<port>\d{1,5})$/;

/**
 * Parses a comma-separated broker list such as the value of `KAFKA_BROKERS`
 * (`host:port,host:port`). Throws an error naming the variable, the expected
 * format and the offending entry when it is malformed.
 */
export function parseBrokers(value: string | undefined, variable = 'KAFKA_BROKERS'): string[] {
  const expected = `${variable} must be a comma-separated list of host:port (for example 127.0.0.1:9092,kafka-2:9092)`;
  if (value === undefined || value.trim() === '')
    throw new Error(`${expected}, got an empty value`);
  return value.split(',').map((raw) => {
    const entry = raw.trim();
    const match = HOST_PORT.exec(entry);
    const port = Number(match?.groups?.['port']);
    if (match === null || port < 1 || port > 65535) {
      throw new Error(`${expected}, got '${value}': '${entry}' is not host:port`);
    }
    return entry;
  });
}
