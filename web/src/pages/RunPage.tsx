export default function RunPage() { return <p>run</p>; }
