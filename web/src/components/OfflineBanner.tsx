import { useOnline } from "../online";

export function OfflineBanner() {
  const online = useOnline();
  if (online) return null;
  return (
    <div className="offline" role="status">
      Offline: showing what this browser already loaded. Changes and runs need the network.
    </div>
  );
}
