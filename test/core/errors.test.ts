import { ActionError, formatError } from '../../src/core/errors.js'
import { ActionError as Reexported } from '../../src/core/types.js'

describe('formatError', () => {
  it('writes "problem; fix." in one voice', () => {
    expect(formatError({ problem: 'Input gguf is "Q9"', fix: 'use one of Q4_K_M, Q8_0' })).toBe(
      'Input gguf is "Q9"; use one of Q4_K_M, Q8_0.'
    )
  })

  it('writes "problem." when there is no fix, and never a doubled full stop', () => {
    expect(formatError({ problem: 'model.gguf is cut short' })).toBe('model.gguf is cut short.')
    expect(formatError({ problem: 'a.', fix: 'regenerate it.' })).toBe('a; regenerate it.')
    expect(formatError({ problem: 'a', fix: '' })).toBe('a.')
  })
})

describe('ActionError', () => {
  it('carries its parts and formats its message from them', () => {
    const error = new ActionError({
      problem: 'x.gguf is not a GGUF file',
      fix: 'regenerate it',
      exitCode: 3
    })
    expect(error.message).toBe('x.gguf is not a GGUF file; regenerate it.')
    expect(error.problem).toBe('x.gguf is not a GGUF file')
    expect(error.fix).toBe('regenerate it')
    expect(error.exitCode).toBe(3)
    expect(error.name).toBe('ActionError')
    expect(error).toBeInstanceOf(Reexported)
  })

  it('takes the exit code second too, the second winning', () => {
    expect(new ActionError({ problem: 'p', fix: 'f' }, 2).exitCode).toBe(2)
    expect(new ActionError({ problem: 'p', exitCode: 1 }, 2).exitCode).toBe(2)
    expect(new ActionError({ problem: 'p' }).exitCode).toBeUndefined()
  })
})
