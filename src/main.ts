// Placeholder entry: replaced by the CLI dispatcher.
declare const IMGBASED_VERSION: string;
async function main(): Promise<void> {
  console.log(`imgbase ${typeof IMGBASED_VERSION === 'string' ? IMGBASED_VERSION : 'dev'}`);
}
void main();
