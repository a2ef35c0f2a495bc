/** The part of chalk 4's API the output layer uses, so chalk itself loads only when colour is on. */
export interface ChalkInstance {
  bold(text: string): string
  dim(text: string): string
  green(text: string): string
  red(text: string): string
  yellow(text: string): string
  cyan(text: string): string
}
