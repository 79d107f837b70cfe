export default function PipelinePage() { return <p>editor</p>; }
