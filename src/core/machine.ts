/**
 * What a run asks of the machine it runs on: the free space of a disk and the memory in all.
 * run() takes it as an argument (this machine by default), so the tests can pretend a smaller
 * machine without filling a disk and without a variable that production code reads.
 */
import os from 'node:os'
import { freeBytes, type FreeBytes } from './disk.js'

export interface Machine {
  /** Free bytes on the file system that holds a path (or its nearest existing parent). */
  readonly freeBytes: FreeBytes
  /** The machine's memory in bytes. */
  readonly totalMemory: number
}

/** The machine this process runs on. */
export function thisMachine(): Machine {
  return { freeBytes, totalMemory: os.totalmem() }
}
